//go:build !linux

package files

import (
	"errors"
	"os"
)

func openDirect(string) (*os.File, error) { return nil, errors.New("O_DIRECT is Linux only") }

const haveDirect = false
