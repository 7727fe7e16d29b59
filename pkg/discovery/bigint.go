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
