package searchbench

import (
	"reflect"
	"testing"
)

func TestSkipDrawsWhatNextDraws(t *testing.T) {
	a, b := NewCorpus(), NewCorpus()
	a.Next(123)
	b.Skip(123)
	if got, want := b.Next(5), a.Next(5); !reflect.DeepEqual(got, want) {
		t.Fatalf("after Skip: %v, after Next: %v", got, want)
	}
}
