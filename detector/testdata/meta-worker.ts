// A worker module that is not self-contained (it reads import.meta): the
// bundled start of `startModuleWorker` must refuse it, naming the cause.
import { parentPort } from "node:worker_threads";

parentPort?.postMessage(import.meta.url);
