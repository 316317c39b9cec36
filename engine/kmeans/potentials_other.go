//go:build !amd64 || purego

package kmeans

func potentials8AVX2(p *float64, closest *float32, w *float64, dc *float32, rows int) {
	panic("kmeans: no AVX2")
}

const potentialsAVX2 = false
