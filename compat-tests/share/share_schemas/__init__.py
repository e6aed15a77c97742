"""KIP-932 admin message definitions (ShareGroupDescribe v1, DescribeShareGroupOffsets v0-v1) for
kafka-python 3.0's JSON-schema protocol layer, which ships no share-group messages of its own.
Written for Brook's compat suite from the field lists in docs/kip932-spec.md (sections 7 and 6);
loaded by compat-tests/share/shareadmin.py."""
