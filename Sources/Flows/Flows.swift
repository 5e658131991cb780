// The Flows module: invertible transforms, coupling blocks, INN/eINN/cINN, MMD.
