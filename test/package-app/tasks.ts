// A compute module in TypeScript: its tasks run on the node's compute pool.
export const tasks = {
  square: (input: unknown): number => (input as number) ** 2,
  /** Whether the preload module ran in this compute thread first. */
  preloaded: (): boolean => globalThis.packageAppPreloaded === true,
  refuse: (): never => {
    throw Object.assign(new Error('the task refuses'), { code: 'E_REFUSED' });
  },
};
