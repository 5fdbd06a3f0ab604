// The Web types core may name, and nothing else. Empty on purpose: ports may mention a signal
// without inspecting it; in Node builds this merges with the real declaration.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- merged with the platform's AbortSignal
interface AbortSignal {}
