/** What the Node running the tests supports, by version (for tests whose expectations differ). */
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);

/** `listen({ reusePort })`, so several sockets can share a port: Node 22.12+ and 23.1+. */
export const nodeCanSharePort = major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
