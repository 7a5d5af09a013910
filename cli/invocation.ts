/** The arguments `main` was called with (for commands that record their own command line). */
export const invocation: { argv: readonly string[] } = { argv: [] };
