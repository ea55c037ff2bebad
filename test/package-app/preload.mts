// A preload module in TypeScript (.mts): every worker that loads user modules imports it first.
declare global {
  var packageAppPreloaded: boolean | undefined;
}

const marker: boolean = true;
globalThis.packageAppPreloaded = marker;

export {};
