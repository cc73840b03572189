// A Go program (static, the Go runtime's own scheduler and timers) that
// reads the TSC itself; the runtime also executes rdtsc at start-up
// (cputicks), which is what killed Go programs under CR4.TSD before the
// guest kernel emulated it.  See ../tsc_c.c.
package main

import (
	"fmt"
	"time"
)

func rdtsc() uint64

func main() {
	a, b := rdtsc(), rdtsc()
	fmt.Printf("tsc_go: monotone %v\n", b >= a)

	done := make(chan int)
	for i := 0; i < 4; i++ {
		go func(i int) { done <- i * i }(i)
	}
	sum := 0
	for i := 0; i < 4; i++ {
		sum += <-done
	}
	fmt.Printf("tsc_go: goroutines sum %d\n", sum)

	c0, s0 := time.Now(), rdtsc()
	time.Sleep(50 * time.Millisecond)
	c1, s1 := time.Now(), rdtsc()
	fmt.Printf("tsc_go: sleep 50 ms: monotonic %d ns tsc %d ticks\n",
		c1.Sub(c0).Nanoseconds(), s1-s0)
	fmt.Println("tsc_go: done")
}
