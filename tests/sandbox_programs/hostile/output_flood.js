// Flood stderr.
const line = "e".repeat(4096) + "\n";
for (;;) process.stderr.write(line);
