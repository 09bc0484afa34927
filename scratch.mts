import { TarMedium } from './lib/medium/tar-medium.js';
const t = Date.now(); try { await TarMedium.open('/tmp/ab.tar'); } catch (e) { console.log((e as Error).message); } console.log('open', Date.now() - t);
