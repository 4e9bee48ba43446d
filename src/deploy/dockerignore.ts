/**
 * Keeps the build context small and the image clean: the host's node_modules would overwrite the
 * deps stage's (and may hold native builds for another OS), and `.klue/` holds the dev-only
 * embedded Redis data and generated envelope key.
 */
export function renderDockerignore(): string {
  return ['node_modules', '.klue', '.git', '.env', '.env.*', 'npm-debug.log*', '*.log', 'Dockerfile', '.dockerignore', 'docker-compose.yml', ''].join('\n');
}
