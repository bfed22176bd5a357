// Go's dialer and resolver.
package main

import (
	"fmt"
	"net"
	"time"
)

func main() {
	for _, addr := range []string{"127.0.0.1:@PORT@", "1.1.1.1:80", "pypi.org:443"} {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err == nil {
			fmt.Println("ESCAPED:", addr)
			c.Close()
		} else {
			fmt.Println("CONTAINED", err)
		}
	}
}
