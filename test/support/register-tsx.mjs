// Preload for executor workers in tests: lets them import behaviour modules written in TypeScript.
import { register } from 'tsx/esm/api';

register();
