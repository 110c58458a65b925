package allocator

import (
	"fmt"
	"math/bits"
)

// bitmap is the allocation state shared by the allocators: one bit per
// offset in [0, size), a count of set bits and the scan hint.
type bitmap struct {
	size  int
	words []uint64
	used  int
	// next is the offset where AllocateNext starts scanning.
	next int
}

func newBitmap(size int) bitmap {
	return bitmap{size: size, words: make([]uint64, (size+63)/64)}
}

func (b *bitmap) has(i int) bool {
	return b.words[i/64]&(1<<(uint(i)%64)) != 0
}

// set marks offset i used; it reports false if it already was.
func (b *bitmap) set(i int) bool {
	w, m := i/64, uint64(1)<<(uint(i)%64)
	if b.words[w]&m != 0 {
		return false
	}
	b.words[w] |= m
	b.used++
	return true
}

// clear marks offset i free; it reports false if it already was.
func (b *bitmap) clear(i int) bool {
	w, m := i/64, uint64(1)<<(uint(i)%64)
	if b.words[w]&m == 0 {
		return false
	}
	b.words[w] &^= m
	b.used--
	return true
}

// allocateNext takes the first free offset at or after the hint, wrapping
// once around the range, and moves the hint past it.
func (b *bitmap) allocateNext() (int, bool) {
	if b.used >= b.size {
		return 0, false
	}
	start := b.next
	if start >= b.size {
		start = 0
	}
	i, ok := b.firstFree(start, b.size)
	if !ok {
		i, ok = b.firstFree(0, start)
	}
	if !ok {
		return 0, false // unreachable while used is consistent
	}
	b.set(i)
	b.next = (i + 1) % b.size
	return i, true
}

// firstFree finds the lowest clear bit in [from, to).
func (b *bitmap) firstFree(from, to int) (int, bool) {
	for i := from; i < to; {
		w := i / 64
		free := ^b.words[w] >> (uint(i) % 64)
		if free == 0 {
			i = (w + 1) * 64
			continue
		}
		i += bits.TrailingZeros64(free)
		if i < to {
			return i, true
		}
		return 0, false
	}
	return 0, false
}

// encode returns the bitmap as bytes, bit i at bit i%8 of byte i/8, without
// trailing zero bytes.
func (b *bitmap) encode() []byte {
	out := make([]byte, (b.size+7)/8)
	for i := range out {
		out[i] = byte(b.words[i/8] >> (8 * (uint(i) % 8)))
	}
	n := len(out)
	for n > 0 && out[n-1] == 0 {
		n--
	}
	return out[:n]
}

// decode replaces the state with data and next, as written by encode.
func (b *bitmap) decode(data []byte, next int) error {
	if len(data) > (b.size+7)/8 {
		return fmt.Errorf("bitmap has %d bytes, more than the %d of a range of %d values", len(data), (b.size+7)/8, b.size)
	}
	if next < 0 || (next >= b.size && !(next == 0 && b.size == 0)) {
		return fmt.Errorf("next offset %d is outside [0, %d)", next, b.size)
	}
	words := make([]uint64, len(b.words))
	used := 0
	for i, v := range data {
		words[i/8] |= uint64(v) << (8 * (uint(i) % 8))
	}
	if extra := b.size % 64; extra != 0 && len(words) > 0 && words[len(words)-1]>>uint(extra) != 0 {
		return fmt.Errorf("bitmap marks values beyond the range's %d", b.size)
	}
	for _, w := range words {
		used += bits.OnesCount64(w)
	}
	b.words, b.used, b.next = words, used, next
	return nil
}
