from mutants import Alternative, Mutant

MUTANTS = [
    # param_counts
    Mutant("param_counts", "return k_h * k_w * c_in * c_out + (c_out if bias else 0)",
           "return k_h * k_w * c_out + (c_out if bias else 0)", ("test_param_counts",),
           "a filter's weights forget the input channels"),
    Mutant("param_counts", "return k_h * k_w * c_in * c_out + (c_out if bias else 0)",
           "return k_h * k_w * c_in * c_out + c_out", ("test_param_counts",), "conv biases counted even with bias=False"),
    Mutant("param_counts", "return k_h * k_w * c_in * c_out + (c_out if bias else 0)",
           "return k_h * k_h * c_in * c_out + (c_out if bias else 0)", ("test_param_counts",),
           "square kernels only (k_h used twice)"),
    Mutant("param_counts", "return n_in * n_out + (n_out if bias else 0)", "return n_in * n_out + n_out",
           ("test_param_counts",), "dense biases counted even with bias=False"),
    # conv_output_size
    Mutant("conv_output_size", "return (n + 2 * p - k) // s + 1", "return (n + p - k) // s + 1",
           ("test_conv_output_size", "test_alexnet_table"), "padding counted on one side only"),
    Mutant("conv_output_size", "return (n + 2 * p - k) // s + 1", "return round((n + 2 * p - k) / s) + 1",
           ("test_conv_output_size",), "rounds instead of flooring (sizes that do not divide)"),
    Mutant("conv_output_size", "return (n + 2 * p - k) // s + 1", "return -(-(n + 2 * p - k) // s) + 1",
           ("test_conv_output_size",), "ceiling instead of floor (keeps the incomplete last window)"),
    Mutant("conv_output_size", "return (n + 2 * p - k) // s + 1", "return (n + 2 * p - k) / s + 1",
           ("test_conv_output_size",), "float division: returns a float where an int is promised"),
    # alexnet_table
    Mutant("alexnet_table", "return sizes, ALEXNET[-1][4] * n * n", "return sizes, ALEXNET[0][4] * n * n",
           ("test_alexnet_table",), "flattened size uses the first layer's channel count"),
    Mutant("alexnet_table", "n = conv_output_size(n, k, s, p)", "n = conv_output_size(n, k, s)",
           ("test_alexnet_table",), "padding of the table ignored"),
    Mutant("alexnet_table", "    sizes = []\n", "    sizes = []\n    n = 227\n", ("test_alexnet_table",),
           "the input size is always 227 (argument ignored)"),
    # conv2d_loops
    Mutant("conv2d_loops", "patch = xp[:, :, i * stride:i * stride + hh, j * stride:j * stride + ww]",
           "patch = xp[:, :, i:i + hh, j:j + ww]", ("test_conv2d_loops",), "windows do not move by the stride"),
    Mutant("conv2d_loops", "F.pad(x, (padding, padding, padding, padding))", "F.pad(x, (padding, padding))",
           ("test_conv2d_loops",), "F.pad with two numbers pads the width only"),
    Mutant("conv2d_loops", "out = torch.zeros(n, f, h_out, w_out, dtype=x.dtype)", "out = torch.zeros(n, f, h_out, w_out)",
           ("test_conv2d_loops",), "float32 output for a float64 input (dtype forgotten)"),
    Mutant("conv2d_loops", "(patch.unsqueeze(1) * w.unsqueeze(0)).sum(dim=(2, 3, 4))",
           "(patch.reshape(n, 1, -1) * w.view(1, f, -1)).sum(dim=2)", ("test_conv2d_loops",),
           ".view on the non-contiguous filters (the check names it and says to use .reshape)"),
    Mutant("conv2d_loops", "    return out\n", "    return F.conv2d(x, w, b, stride=stride, padding=padding)\n",
           ("test_conv2d_loops",), "calls F.conv2d instead of writing the loops"),
    # conv2d_im2col
    Mutant("conv2d_im2col", "cols = F.unfold(x, (hh, ww), padding=padding, stride=stride)",
           "cols = F.unfold(x, (hh, ww), stride=stride)", ("test_conv2d_im2col",), "padding forgotten in unfold"),
    Mutant("conv2d_im2col", "out = w.reshape(f, -1) @ cols", "out = w.view(f, -1) @ cols", ("test_conv2d_im2col",),
           ".view on non-contiguous filters"),
    Mutant("conv2d_im2col", "w_out = (wd + 2 * padding - ww) // stride + 1", "w_out = h_out", ("test_conv2d_im2col",),
           "square outputs only"),
    Mutant("conv2d_im2col", "    if b is not None:\n        out = out + b.reshape(1, f, 1)",
           "    out = out + b.reshape(1, f, 1)", ("test_conv2d_im2col",), "b=None not handled"),
    # maxpool2d
    Mutant("maxpool2d", "cols.max(dim=1).values", "cols.mean(dim=1)", ("test_maxpool2d",),
           "average pooling instead of max pooling"),
    Mutant("maxpool2d", "x.reshape(n * c, 1, h, w)", "x.view(n * c, 1, h, w)", ("test_maxpool2d",),
           ".view on a non-contiguous input"),
    Mutant("maxpool2d", "cols.max(dim=1).values", "cols.clamp(min=0).max(dim=1).values", ("test_maxpool2d",),
           "a maximum that starts from 0 (wrong for all-negative windows)"),
    Mutant("maxpool2d", "    return cols.max(dim=1).values.reshape(n, c, h_out, w_out)",
           "    return F.max_pool2d(x, k, stride)", ("test_maxpool2d",), "calls F.max_pool2d instead of pooling by hand"),
    # receptive_field
    Mutant("receptive_field", "r += (k - 1) * jump", "r += k - 1", ("test_receptive_field",),
           "ignores the accumulated stride of earlier layers"),
    Mutant("receptive_field", "        r += (k - 1) * jump\n        jump *= s", "        jump *= s\n        r += (k - 1) * jump",
           ("test_receptive_field",), "multiplies in a layer's own stride before widening"),
    Mutant("receptive_field", "jump *= s", "jump = s", ("test_receptive_field",),
           "only the previous layer's stride, not the product"),
    Mutant("receptive_field", "r, jump = 1, 1", "r, jump = 0, 1", ("test_receptive_field",), "off by one (starts at 0)"),
    # models
    Mutant("models", "nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10)", "nn.Linear(784, 10)", ("test_models",),
           "MLP far smaller than the CNN (no fair comparison)"),
    Mutant("models", "nn.Flatten(), nn.Dropout(0.25), nn.Linear(32 * 3 * 3, 64), nn.ReLU(), nn.Dropout(0.25),",
           "nn.Flatten(), nn.Linear(32 * 3 * 3, 64), nn.ReLU(),", ("test_models",), "no dropout"),
    Mutant("models", "nn.Linear(32 * 3 * 3, 64), nn.ReLU(), nn.Dropout(0.25), nn.Linear(64, 10)",
           "nn.Linear(32 * 3 * 3, 256), nn.ReLU(), nn.Dropout(0.25), nn.Linear(256, 10)", ("test_models",),
           "dense layer too wide: over 60,000 parameters"),
    Mutant("models", "nn.Sequential(nn.Flatten(), nn.Linear(784, 32)", "nn.Sequential(nn.Conv2d(1, 1, 1), nn.Flatten(), nn.Linear(784, 32)",
           ("test_models",), "the MLP uses a convolution"),
    # shift
    Mutant("shift", "out = torch.zeros_like(x)", "return torch.roll(x, shifts=(dy, dx), dims=(-2, -1))",
           ("test_shift_images",), "torch.roll wraps pixels around instead of filling with zeros"),
    Mutant("shift", "(0, s), (0, -s)]]", "(0, s), (0, s)]]", ("test_shift_accuracy",),
           "one direction counted twice, another never"),
    Mutant("shift", "    if abs(dx) >= w or abs(dy) >= h:\n        return out\n", "", ("test_shift_images",),
           "shifts as large as the image not handled"),
    Mutant("shift", "    model.eval()\n", "", ("test_shift_accuracy",), "shift_accuracy leaves the model in train mode"),
    # augmentation
    Mutant("augmentation", "v2.RandomCrop(28, padding=max_shift)", "v2.RandomCrop(28, padding=2 * max_shift)",
           ("test_augmentation",), "shifts up to twice the allowed size"),
    Mutant("augmentation", "v2.RandomCrop(28, padding=max_shift)", "v2.RandomCrop(28, padding=4)",
           ("test_augmentation",), "max_shift ignored (the lab's 4 hard-coded)"),
    Mutant("augmentation", "v2.RandomCrop(28, padding=max_shift)", "v2.RandomCrop(28, padding=max_shift, padding_mode=\"reflect\")",
           ("test_augmentation",), "reflect padding instead of zero fill"),
    Mutant("augmentation", "return v2.RandomCrop(28, padding=max_shift)",
           "return v2.RandomAffine(degrees=10, translate=(max_shift / 28, max_shift / 28))", ("test_augmentation",),
           "rotates as well as shifts"),
    # tta
    Mutant("tta", "F.softmax(model(shift_images(x, dx, dy).to(device)), dim=1).cpu()",
           "model(shift_images(x, dx, dy).to(device)).cpu()", ("test_tta",), "averages logits, not probabilities"),
    Mutant("tta", "    model.eval()\n", "", ("test_tta",), "tta_predict leaves the model in train mode (dropout on)"),
    Mutant("tta", "F.softmax(model(shift_images(x, dx, dy).to(device)), dim=1)",
           "F.softmax(model(shift_images(x, dx, dy).to(device)), dim=0)", ("test_tta",), "softmax over the batch"),
    Mutant("tta", "shift_images(x, dx, dy)", "shift_images(x, dy, dx)", ("test_tta",), "dx and dy swapped"),
    # technique_params
    Mutant("technique_params", "(k * k * c_in + c_in)", "conv_params(k, k, c_in, c_in)", ("test_technique_params",),
           "depthwise step counted as a full convolution (groups forgotten)"),
    Mutant("technique_params", "(k * k * c_in + c_in)", "(k * k * c_out + c_out)", ("test_technique_params",),
           "depthwise step sized by c_out (right only when c_in = c_out)"),
    Mutant("technique_params", "conv_params(1, 1, c_in, c_mid)", "conv_params(k, k, c_in, c_mid)",
           ("test_technique_params",), "the bottleneck's 1x1 counted as k x k"),
    # residual_block
    Mutant("residual_block", "return F.relu(x + self.conv2(F.relu(self.conv1(x))))",
           "return x + self.conv2(F.relu(self.conv1(x)))", ("test_residual_block",), "no ReLU after the addition"),
    Mutant("residual_block", "self.conv2(F.relu(self.conv1(x)))", "self.conv1(F.relu(self.conv1(x)))",
           ("test_residual_block",), "conv1 applied twice (conv2 unused)"),
    Mutant("residual_block", "return F.relu(x + self.conv2(F.relu(self.conv1(x))))",
           "return F.relu(x + self.conv2(self.conv1(x)))", ("test_residual_block",), "no ReLU between the convolutions"),
    Mutant("residual_block", "nn.Conv2d(channels, channels, 3, padding=1)", "nn.Conv2d(channels, channels, 3, padding=1, bias=False)",
           ("test_residual_block",), "convolutions without bias"),
    # multiple choice: only the judge can tell
    Mutant("mcq_answers", '"q2": "a"', '"q2": "b"', ("test_mcq_q2",), "wrong multiple-choice answer", hidden_only=True),
    Mutant("mcq_answers", '"q1": "b"', '"q1": "a"', ("test_mcq_q1",), "wrong multiple-choice answer", hidden_only=True),
]

ALTERNATIVES = [
    Alternative("param_counts", "return k_h * k_w * c_in * c_out + (c_out if bias else 0)",
                "return c_out * (k_h * k_w * c_in + int(bias))", "factored count"),
    Alternative("conv_output_size", "return (n + 2 * p - k) // s + 1", "return int((n + 2 * p - k) / s) + 1",
                "int() of a float division (truncation = floor for the non-negative sizes)"),
    Alternative("conv2d_loops", "out[:, :, i, j] = (patch.unsqueeze(1) * w.unsqueeze(0)).sum(dim=(2, 3, 4))",
                "out[:, :, i, j] = torch.einsum(\"nchw,fchw->nf\", patch, w)", "einsum per output position"),
    Alternative("conv2d_im2col", "out = w.reshape(f, -1) @ cols", "out = torch.einsum(\"fk,nkl->nfl\", w.reshape(f, -1), cols)",
                "einsum instead of @"),
    Alternative("maxpool2d", "    cols = F.unfold(x.reshape(n * c, 1, h, w), k, stride=stride)  # (N*C, k*k, L)\n"
                "    return cols.max(dim=1).values.reshape(n, c, h_out, w_out)",
                "    windows = x.unfold(2, k, stride).unfold(3, k, stride)  # (N, C, H', W', k, k)\n"
                "    return windows.amax(dim=(-2, -1))", "Tensor.unfold twice and amax"),
    Alternative("maxpool2d", "cols = F.unfold(x.reshape(n * c, 1, h, w), k, stride=stride)  # (N*C, k*k, L)",
                "cols = F.unfold(x, k, stride=stride).reshape(n * c, k * k, -1)  # channel-major rows",
                "unfold all channels at once, then split the rows per channel"),
    Alternative("receptive_field", "    r, jump = 1, 1\n    for k, s in layers:\n        r += (k - 1) * jump\n        jump *= s\n    return r",
                "    r = 1\n    for k, s in reversed(layers):\n        r = s * (r - 1) + k\n    return r",
                "backwards from the output: r_in = s·(r_out − 1) + k"),
    Alternative("shift", "    h, w = x.shape[-2:]\n    out = torch.zeros_like(x)",
                "    h, w = x.shape[-2:]\n    m = max(abs(dx), abs(dy), 1)\n    padded = F.pad(x, (m, m, m, m))\n"
                "    return padded[..., m - dy:m - dy + h, m - dx:m - dx + w].clone()\n    out = torch.zeros_like(x)",
                "pad generously, then crop"),
    Alternative("shift", "    model.eval()\n    result = []\n    for s in range(max_shift + 1):\n"
                "        accs = [labkit.training.accuracy(model(shift_images(x, dx, dy).to(device)), y)\n"
                "                for dx, dy in [(s, 0), (-s, 0), (0, s), (0, -s)]]\n"
                "        result.append(sum(accs) / 4)\n    return result",
                "    was_training = model.training\n    model.eval()\n    result = []\n"
                "    for s in range(max_shift + 1):\n"
                "        accs = [labkit.training.accuracy(model(shift_images(x, dx, dy).to(device)), y)\n"
                "                for dx, dy in [(s, 0), (-s, 0), (0, s), (0, -s)]]\n"
                "        result.append(sum(accs) / 4)\n    model.train(was_training)\n    return result",
                "shift_accuracy restores the model's mode at the end (the eval-mode check calls it twice)"),
    Alternative("augmentation", "return v2.RandomCrop(28, padding=max_shift)",
                "return v2.RandomAffine(degrees=0, translate=(max_shift / 28, max_shift / 28))",
                "RandomAffine with translate only"),
    Alternative("tta", "    probs = [F.softmax(model(shift_images(x, dx, dy).to(device)), dim=1).cpu() for dx, dy in shifts]\n"
                "    return torch.stack(probs).mean(dim=0)",
                "    total = 0\n    for dx, dy in shifts:\n        total = total + torch.softmax(model(shift_images(x, dx, dy).to(device)), -1).cpu()\n"
                "    return total / len(shifts)", "running sum of probabilities"),
    Alternative("technique_params", "(k * k * c_in + c_in)", "c_in * conv_params(k, k, 1, 1)",
                "c_in single-channel k x k filters"),
    Alternative("residual_block", "return F.relu(x + self.conv2(F.relu(self.conv1(x))))",
                "return torch.clamp(self.conv2(self.conv1(x).relu()) + x, min=0)", "clamp and Tensor.relu"),
]
