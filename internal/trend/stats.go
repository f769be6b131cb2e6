package trend

import "math"

// median returns the median of a, reordering a in place. It runs in linear
// expected time because Analyze takes several medians per call and sorting
// would dominate on long series. a must not contain NaN.
func median(a []float64) float64 {
	n := len(a)
	if n == 0 {
		return 0
	}
	k := n / 2
	m := selectK(a, k)
	if n%2 == 1 {
		return m
	}
	// After selection everything before k is <= a[k]; the other middle
	// value is the largest of them.
	lo := a[0]
	for _, x := range a[1:k] {
		if x > lo {
			lo = x
		}
	}
	return (lo + m) / 2
}

// selectK moves the k-th smallest element of a to a[k], with everything
// before it no larger and everything after no smaller, and returns it
// (Hoare's quickselect with a median-of-three pivot).
func selectK(a []float64, k int) float64 {
	lo, hi := 0, len(a)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if a[mid] < a[lo] {
			a[mid], a[lo] = a[lo], a[mid]
		}
		if a[hi] < a[lo] {
			a[hi], a[lo] = a[lo], a[hi]
		}
		if a[hi] < a[mid] {
			a[hi], a[mid] = a[mid], a[hi]
		}
		p := a[mid]
		i, j := lo, hi
		for i <= j {
			for a[i] < p {
				i++
			}
			for a[j] > p {
				j--
			}
			if i <= j {
				a[i], a[j] = a[j], a[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default: // j < k < i: a[k] equals the pivot
			return a[k]
		}
	}
	return a[k]
}

// linearFit returns the least-squares slope of y over x and the
// coefficient of determination R². Degenerate input (fewer than two
// distinct x, or constant y) gives R² = 0 so it never passes a fit test.
func linearFit(x, y []float64) (slope, r2 float64) {
	n := float64(len(x))
	if len(x) < 2 {
		return 0, 0
	}
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= n
	my /= n
	var sxx, sxy, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxx += dx * dx
		sxy += dx * dy
		syy += dy * dy
	}
	if sxx == 0 {
		return 0, 0
	}
	slope = sxy / sxx
	if syy == 0 {
		return slope, 0
	}
	return slope, sxy * sxy / (sxx * syy)
}

// changePoint finds the single split of v into v[:k] and v[k:] (each at
// least minSeg long) that minimises the within-segment squared error, and
// returns k, both means and the pooled within-segment standard deviation.
// Values are centred on center first so sums of squares of large byte
// counts keep their precision.
func changePoint(v []float64, minSeg int, center float64) (k int, left, right, sd float64, ok bool) {
	n := len(v)
	if minSeg < 1 || n < 2*minSeg || n < 3 {
		return 0, 0, 0, 0, false
	}
	var sum, sumSq float64
	for _, x := range v {
		x -= center
		sum += x
		sumSq += x * x
	}
	best := math.Inf(1)
	var ls, lq float64
	for i := 0; i < n-minSeg; i++ {
		x := v[i] - center
		ls += x
		lq += x * x
		nl := float64(i + 1)
		if i+1 < minSeg {
			continue
		}
		nr := float64(n) - nl
		rs, rq := sum-ls, sumSq-lq
		sse := (lq - ls*ls/nl) + (rq - rs*rs/nr)
		if sse < best {
			best, k = sse, i+1
			left, right = ls/nl+center, rs/nr+center
		}
	}
	sd = math.Sqrt(math.Max(best, 0) / float64(n-2))
	return k, left, right, sd, true
}
