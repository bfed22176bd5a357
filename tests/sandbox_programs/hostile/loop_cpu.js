// Busy loop in Node.
while (true) {}
