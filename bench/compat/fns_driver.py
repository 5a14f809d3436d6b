"""Driver (ours, not from pytorch/examples): a few Adam steps of fast_neural_style's TransformerNet on
fake images, with the example's own utils.normalize_batch / utils.gram_matrix; VGG16 replaced by the
identity because no pretrained weights are available offline. Written against the torch API."""
import argparse
import torch
from torch.optim import Adam
from transformer_net import TransformerNet
import utils

p = argparse.ArgumentParser()
p.add_argument("--steps", type=int, default=5)
p.add_argument("--size", type=int, default=32)
args = p.parse_args()
torch.manual_seed(0)
x_all = torch.rand(4, 3, args.size, args.size) * 255
style = torch.rand(1, 3, args.size, args.size) * 255
gm_s = utils.gram_matrix(utils.normalize_batch(style.clone()))
net = TransformerNet()
opt = Adam(net.parameters(), 1e-3)
mse = torch.nn.MSELoss()
for step in range(args.steps):
    x = x_all[(2 * step) % 4:(2 * step) % 4 + 2].clone()
    opt.zero_grad()
    y = net(x)
    y = utils.normalize_batch(y)
    x = utils.normalize_batch(x)
    content = mse(y, x)
    style_loss = mse(utils.gram_matrix(y), gm_s.expand(2, -1, -1)) * 1e2
    total = content + style_loss
    total.backward()
    opt.step()
    print("step {} total loss {:.6f}".format(step, total.item()))
