package sqlstore

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/oombot/oombot/internal/report"
)

// maxDecodedReport bounds a report's JSON when it is read back, so a
// corrupted (or hostile) row cannot expand into gigabytes.
const maxDecodedReport = 256 << 20

// encodedReport is a report ready to store.
type encodedReport struct {
	data []byte
	// trimmed says the evidence was dropped because the whole report
	// compressed to fullSize bytes, above the limit.
	trimmed  bool
	fullSize int
}

// encodeReport gzips r's JSON; above maxBytes it encodes r without its
// evidence instead (the verdict, matches and facts are what buttons and
// history need; evidence with its log excerpts is what grows).
func encodeReport(r *report.Report, maxBytes int) (encodedReport, error) {
	if r == nil {
		return encodedReport{}, nil
	}
	data, err := gzipJSON(r)
	if err != nil {
		return encodedReport{}, err
	}
	if len(data) <= maxBytes || r.Evidence == nil {
		return encodedReport{data: data, fullSize: len(data)}, nil
	}
	lean := *r
	lean.Evidence = nil
	small, err := gzipJSON(&lean)
	if err != nil {
		return encodedReport{}, err
	}
	return encodedReport{data: small, trimmed: true, fullSize: len(data)}, nil
}

func gzipJSON(r *report.Report) ([]byte, error) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if err := json.NewEncoder(zw).Encode(r); err != nil {
		return nil, fmt.Errorf("encode report: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress report: %w", err)
	}
	return b.Bytes(), nil
}

// decodeReport reverses encodeReport; no data is no report.
func decodeReport(data []byte) (*report.Report, error) {
	if data == nil {
		return nil, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decompress report: %w", err)
	}
	defer zr.Close()
	var r report.Report
	lr := &io.LimitedReader{R: zr, N: maxDecodedReport + 1}
	if err := json.NewDecoder(lr).Decode(&r); err != nil {
		if lr.N <= 0 {
			return nil, errors.New("decode report: larger than 256 MiB")
		}
		return nil, fmt.Errorf("decode report: %w", err)
	}
	return &r, nil
}
