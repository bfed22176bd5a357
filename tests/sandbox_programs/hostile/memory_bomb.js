// Grow a JavaScript array of strings until the heap or the cgroup gives out.
const keep = [];
for (let i = 0; ; i++) keep.push("x".repeat(1 << 20) + i);
