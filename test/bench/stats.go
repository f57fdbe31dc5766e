package main

import (
	"math"
	"sort"
	"time"
)

// Stats summarises one set of samples, in milliseconds.
type Stats struct {
	N      int     `json:"n"`
	Median float64 `json:"medianMs"`
	P90    float64 `json:"p90Ms"`
	Max    float64 `json:"maxMs"`
	Min    float64 `json:"minMs"`
	Errors int     `json:"errors,omitempty"`
	// Samples in call order, so drift and outliers can be seen.
	Samples []float64 `json:"samplesMs,omitempty"`
}

func summarise(samples []time.Duration, errors int) Stats {
	s := Stats{N: len(samples), Errors: errors}
	if len(samples) == 0 {
		return s
	}
	ms := make([]float64, len(samples))
	for i, d := range samples {
		ms[i] = float64(d.Microseconds()) / 1000
	}
	s.Samples = append([]float64(nil), ms...)
	sort.Float64s(ms)
	s.Median = median(ms)
	s.P90 = ms[nearestRank(len(ms), 0.9)]
	s.Max = ms[len(ms)-1]
	s.Min = ms[0]
	return s
}

// median of sorted values; the mean of the middle two for an even count.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// nearestRank is the index of the p-th percentile by the nearest-rank
// method: the smallest sample with at least p of the samples at or below it.
func nearestRank(n int, p float64) int {
	i := int(math.Ceil(p*float64(n))) - 1
	return max(0, min(i, n-1))
}

func medianOf(values []float64) float64 {
	s := append([]float64(nil), values...)
	sort.Float64s(s)
	return median(s)
}

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())/10) / 100 }
