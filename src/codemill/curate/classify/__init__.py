"""Small fastText classifiers: how they read a text, loading, training, evaluation, and level 3's LM teacher."""
