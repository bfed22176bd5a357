// Node's net module: host loopback server and a public address.
const net = require("net");
let pending = 2;
for (const [host, port] of [["127.0.0.1", @PORT@], ["1.1.1.1", 80]]) {
  const s = net.connect({ host, port, timeout: 2000 });
  s.on("connect", () => { console.log(`ESCAPED: ${host}`); s.destroy(); });
  s.on("error", (e) => console.log(`CONTAINED ${host} ${e.code}`));
  s.on("timeout", () => { console.log(`CONTAINED ${host} timeout`); s.destroy(); });
}
