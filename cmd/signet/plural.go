package main

import "fmt"

// count writes n with the noun in the number n needs: "1 rule", "2 rules".
func count[N ~int | ~int64 | ~uint64](n N, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
