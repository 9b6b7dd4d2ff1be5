// ESM entry point: `import { Engine } from 'ssecast'`.
import ssecast from './index.js';

export const { Engine, Subscription } = ssecast;
export default ssecast;
