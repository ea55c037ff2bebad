/**
 * The linearizability checker's surface: `checkLinearizable`, its history and result types, the
 * model interface and the shipped models. Files, one job each: history.ts (operations, parts),
 * model.ts (the model interface), search.ts (the search of one part), linearized-set.ts (its memo's set),
 * budget.ts (steps and time), check.ts (parts and budget around the search), result.ts (answers
 * and their account), register.ts and kv.ts (models), values.ts (how models compare values).
 */
export { checkLinearizable } from './check.js';
export type { LinearizabilityOptions } from './check.js';
export { DEFAULT_MAX_STEPS } from './budget.js';
export type { BudgetExhausted } from './budget.js';
export type { HistoryOperation, PartitionKey } from './history.js';
export { UNKNOWN_OUTPUT } from './model.js';
export type { LinearizabilityModel, ModelStep, UnknownOutput } from './model.js';
export { describeLinearizability } from './result.js';
export type { Linearizable, LinearizabilityResult, LinearizabilityUnknown, NotLinearizable } from './result.js';
export { registerModel } from './register.js';
export type { RegisterInput, RegisterOutput } from './register.js';
export { kvModel } from './kv.js';
export type { KvInput, KvOutput, KvState } from './kv.js';
