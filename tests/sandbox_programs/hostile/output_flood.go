// Print forever.
package main

import "fmt"

func main() {
	for {
		fmt.Println("go go go go go go go go go go go go go go go go")
	}
}
