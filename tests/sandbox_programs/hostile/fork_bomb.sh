# The classic: each call spawns two more, in the background.
bomb() { bomb | bomb & }
bomb
sleep 30
