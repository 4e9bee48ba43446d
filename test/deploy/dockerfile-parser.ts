/** One Dockerfile instruction, continuation lines joined. */
export interface Instruction {
  keyword: string;
  /** Leading `--name=value` flags (COPY --from, HEALTHCHECK --interval...). */
  flags: Record<string, string>;
  /** The rest of the line after the flags. */
  args: string;
  /** The JSON array of an exec-form RUN/CMD/ENTRYPOINT, or of HEALTHCHECK's CMD. */
  exec?: string[];
}

export interface Stage {
  /** The image of `FROM`. */
  from: string;
  /** The `AS` name, if any. */
  name?: string;
  instructions: Instruction[];
}

const KNOWN = new Set(['FROM', 'WORKDIR', 'COPY', 'ADD', 'RUN', 'USER', 'ENV', 'ARG', 'EXPOSE', 'HEALTHCHECK', 'CMD', 'ENTRYPOINT', 'LABEL']);

function splitFlags(rest: string): { flags: Record<string, string>; args: string } {
  const flags: Record<string, string> = {};
  let args = rest;
  for (let m = /^--([a-z-]+)=(\S+)\s+/.exec(args); m; m = /^--([a-z-]+)=(\S+)\s+/.exec(args)) {
    flags[m[1]!] = m[2]!;
    args = args.slice(m[0].length);
  }
  return { flags, args };
}

function execArray(text: string): string[] | undefined {
  if (!text.startsWith('[')) return undefined;
  const parsed = JSON.parse(text) as unknown;
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`not an exec-form array: ${text}`);
  return parsed;
}

/** Splits a Dockerfile into build stages; throws on instructions it does not know, so new template lines are noticed. */
export function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line) && !pending) continue;
    const trimmed = line.trimEnd();
    if (trimmed.endsWith('\\')) {
      pending += `${trimmed.slice(0, -1)} `;
      continue;
    }
    const full = (pending + trimmed).trim();
    pending = '';
    if (full) logical.push(full);
  }
  const stages: Stage[] = [];
  for (const line of logical) {
    const m = /^(\S+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`cannot parse Dockerfile line: ${line}`);
    const keyword = m[1]!.toUpperCase();
    if (!KNOWN.has(keyword)) throw new Error(`unknown Dockerfile instruction: ${line}`);
    const { flags, args } = splitFlags(m[2]!);
    if (keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!from) throw new Error(`cannot parse FROM: ${line}`);
      stages.push({ from: from[1]!, name: from[2], instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`${keyword} before the first FROM`);
    const exec = keyword === 'HEALTHCHECK' ? execArray(args.replace(/^CMD\s+/, '')) : execArray(args);
    stage.instructions.push({ keyword, flags, args, exec });
  }
  return stages;
}

/** Instructions of a stage with that keyword, in order. */
export function instructions(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((i) => i.keyword === keyword);
}
