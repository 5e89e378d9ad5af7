/**
 * The clone or its remote is unusable (not a repository, remote unknown). In a module of its own so
 * that the start-up error explanations can recognise it without loading simple-git (see repo.ts).
 */
export class RepoError extends Error {
  override name = 'RepoError'
  constructor (readonly path: string, reason: string) {
    super(`git repository ${path}: ${reason}`)
  }
}
