"""Neural network parts: reusable blocks (:mod:`.attention`), and the models built from them."""
