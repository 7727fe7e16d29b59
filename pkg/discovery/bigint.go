package discovery

import (
	"bytes"
	"fmt"
	"strconv"
)

// BigInt is the Discovery API's BigInt scalar, used for every ID. As a
// query variable it is declared `BigInt!` (a plain Go integer would be
// declared `Int!`, which dbt rejects). It decodes from a JSON number or a
// numeric string; null leaves it unchanged.
type BigInt int64

// GetGraphQLType names the GraphQL type of BigInt variables.
func (BigInt) GetGraphQLType() string { return "BigInt" }

// MarshalJSON encodes b as a JSON number.
func (b BigInt) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, int64(b), 10), nil
}

// UnmarshalJSON decodes a JSON number, a numeric string or null.
func (b *BigInt) UnmarshalJSON(data []byte) error {
	if n, ok := parseDigits(data); ok {
		*b = BigInt(n)
		return nil
	}
	data = bytes.TrimSpace(data)
	if string(data) == "null" {
		return nil
	}
	s := string(bytes.Trim(data, `"`))
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != float64(int64(f)) {
			return fmt.Errorf("BigInt: %s is not an integer", data)
		}
		n = int64(f)
	}
	*b = BigInt(n)
	return nil
}

// parseDigits is the allocation-free path for the usual case: a plain
// non-negative integer of at most 18 digits, quoted or not.
func parseDigits(data []byte) (int64, bool) {
	if len(data) >= 2 && data[0] == '"' && data[len(data)-1] == '"' {
		data = data[1 : len(data)-1]
	}
	if len(data) == 0 || len(data) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range data {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
