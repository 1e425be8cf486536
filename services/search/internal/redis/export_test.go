package redis

import "time"

// LingerAfter is how long c's Run waits after a batch of n entries.
func LingerAfter(c *Consumer, n int64) time.Duration { return c.linger(n) }
