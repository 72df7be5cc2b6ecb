"""The contract every service shares (shared.contract) and the kit they run on (shared.kit)."""
