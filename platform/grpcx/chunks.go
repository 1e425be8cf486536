package grpcx

import "io"

// ChunkReader reads the chunks of a client-streaming upload as one byte
// stream: next returns the following chunk, and io.EOF once the client has
// closed its side. The upload RPCs hand it to code that takes an io.Reader,
// so no file is ever held whole.
func ChunkReader(next func() ([]byte, error)) io.Reader {
	return &chunkReader{next: next}
}

type chunkReader struct {
	next func() ([]byte, error)
	buf  []byte
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		b, err := r.next()
		if err != nil {
			return 0, err // io.EOF at the end of the upload
		}
		r.buf = b
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}
