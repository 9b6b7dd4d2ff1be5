// ESM entry point: `import { Engine } from 'ssecast'`.
import ssecast from './index.js';

export const { Engine } = ssecast;
export default ssecast;
