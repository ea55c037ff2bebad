// main.ts: start a node, spawn a counter on an executor thread, talk to it.
import { startNode } from 'horde';
import type { CounterMsg } from './counter.js';

// './counter.js' is counter.ts under tsx, and the compiled counter.js after tsc.
const node = await startNode({ behaviours: [new URL('./counter.js', import.meta.url)] });
const counter = await node.spawn<CounterMsg>('counter');
node.send(counter, { type: 'inc', by: 2 }); // a wrong message is a compile error
console.log(await node.ask(counter, { type: 'get' }, { timeoutMs: 1000 })); // 2
await node.stop();
