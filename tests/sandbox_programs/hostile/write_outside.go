// os.WriteFile outside the working folder.
package main

import (
	"fmt"
	"os"
)

func main() {
	for _, p := range []string{"/usr/share/evil", "/etc/evil", "@MARKER@"} {
		if err := os.WriteFile(p, []byte("pwned"), 0o644); err == nil {
			fmt.Println("ESCAPED:", p)
		} else {
			fmt.Println("CONTAINED", err)
		}
	}
}
