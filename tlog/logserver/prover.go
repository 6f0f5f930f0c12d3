package logserver

import (
	"context"
	"fmt"
	"sync"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
)

// prover builds inclusion proofs against the latest checkpoint. Appends
// answered by one checkpoint share the tiles and node hashes their proofs
// need: each tile is read, and each node hashed, once per checkpoint instead
// of once per append (Tessera's ProofBuilder hashes a node's leaves again on
// every call).
type prover struct {
	mu    sync.Mutex
	state *proofState
}

// proofState is what proofs against a tree of one size share.
type proofState struct {
	size  uint64
	fetch client.TileFetcherFunc
	tiles map[[2]uint64]api.HashTile
	nodes map[compact.NodeID][]byte
}

func newProofState(size uint64, fetch client.TileFetcherFunc) *proofState {
	return &proofState{size: size, fetch: fetch, tiles: map[[2]uint64]api.HashTile{}, nodes: map[compact.NodeID][]byte{}}
}

// inclusionProof returns the proof that leaf index is in the tree of size.
func (p *prover) inclusionProof(ctx context.Context, size, index uint64, fetch client.TileFetcherFunc) ([][]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.state
	if st == nil || st.size != size {
		st = newProofState(size, fetch)
		if p.state == nil || size > p.state.size {
			p.state = st
		}
	}
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, fmt.Errorf("building inclusion proof for %d in %d: %w", index, size, err)
	}
	hashes := make([][]byte, 0, len(nodes.IDs))
	for _, id := range nodes.IDs {
		h, err := st.node(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("building inclusion proof for %d in %d: %w", index, size, err)
		}
		hashes = append(hashes, h)
	}
	return nodes.Rehash(hashes, rfc6962.DefaultHasher.HashChildren)
}

// node returns the hash of a perfect subtree of the tree: a leaf hash from a
// tile, or the hash of its two children.
func (st *proofState) node(ctx context.Context, id compact.NodeID) ([]byte, error) {
	if h, ok := st.nodes[id]; ok {
		return h, nil
	}
	tileLevel, tileIndex, nodeLevel, nodeIndex := layout.NodeCoordsToTileAddress(uint64(id.Level), id.Index)
	var h []byte
	if nodeLevel == 0 {
		t, err := st.tile(ctx, tileLevel, tileIndex)
		if err != nil {
			return nil, err
		}
		if nodeIndex >= uint64(len(t.Nodes)) {
			return nil, fmt.Errorf("tile %d/%d has %d hashes, node %d is not among them", tileLevel, tileIndex, len(t.Nodes), nodeIndex)
		}
		h = t.Nodes[nodeIndex]
	} else {
		left, err := st.node(ctx, compact.NewNodeID(id.Level-1, 2*id.Index))
		if err != nil {
			return nil, err
		}
		right, err := st.node(ctx, compact.NewNodeID(id.Level-1, 2*id.Index+1))
		if err != nil {
			return nil, err
		}
		h = rfc6962.DefaultHasher.HashChildren(left, right)
	}
	st.nodes[id] = h
	return h, nil
}

func (st *proofState) tile(ctx context.Context, level, index uint64) (api.HashTile, error) {
	key := [2]uint64{level, index}
	if t, ok := st.tiles[key]; ok {
		return t, nil
	}
	raw, err := st.fetch(ctx, level, index, layout.PartialTileSize(level, index, st.size))
	if err != nil {
		return api.HashTile{}, fmt.Errorf("reading tile %d/%d: %w", level, index, err)
	}
	var t api.HashTile
	if err := t.UnmarshalText(raw); err != nil {
		return api.HashTile{}, fmt.Errorf("parsing tile %d/%d: %w", level, index, err)
	}
	st.tiles[key] = t
	return t, nil
}
