// The GAN module.
