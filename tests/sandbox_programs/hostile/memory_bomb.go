// Append to a slice forever, touching every page.
package main

func main() {
	var keep [][]byte
	for {
		b := make([]byte, 64<<20)
		for i := range b {
			b[i] = 1
		}
		keep = append(keep, b)
	}
}
