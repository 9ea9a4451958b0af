"""Neural network parts: reusable blocks (:mod:`.attention`), and the models built from them.

The D2M-GAN-SCA generator, in the order data flows: :mod:`.data` (corpus -> bar tensors, partner
conditions), :mod:`.vqvae` (bar VQ-VAE), :mod:`.generator` (noise + emotion -> bar latents, FiLM and SCA
blocks), :mod:`.discriminator` (D1/D2/D3 with multi-scale grouped convs), :mod:`.losses` (every term of
the training objective), :mod:`.config` (the training recipe), :mod:`.train` with :mod:`.train_vqvae` and
:mod:`.train_gan` (the two stages), :mod:`.training_log`, :mod:`.evaluation` (figures watched during
training), :mod:`.checkpoint` (one ``.pt`` file per model) and :mod:`.api` (``load_model`` /
``MusicModel.sample``, what generation uses).
"""
