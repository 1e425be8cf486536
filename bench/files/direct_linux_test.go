package files

import (
	"os"
	"syscall"
)

// openDirect opens name for reads that bypass the page cache (O_DIRECT):
// every read goes to the disk, as a cold read does. Reads must be made
// into a buffer aligned to the disk's block size (alignedBuf).
func openDirect(name string) (*os.File, error) {
	return os.OpenFile(name, os.O_RDONLY|syscall.O_DIRECT, 0)
}

const haveDirect = true
