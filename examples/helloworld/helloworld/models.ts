/**
 * The parent class of the `Question` model (`x-parent: helloworld.models.Question` in the spec):
 * a Question body arrives as a model object whose prototype is this class.
 */
export class Question {
  declare question: string;

  /** A method models inherit, as in the original's "object inheritance" example. */
  getQuestion(): string {
    return this.question;
  }
}
