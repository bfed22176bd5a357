// Many workers, each spinning: threads count against the process limit.
const { Worker } = require("worker_threads");
for (let i = 0; i < 10000; i++) {
  try { new Worker("while (true) {}", { eval: true }); } catch (e) { console.log("refused", e.code); break; }
}
