import numpy as np
import torch
import compat_data as cd


class _VisionDataset(torch.utils.data.Dataset):
    def __init__(self, imgs, targets, transform=None, target_transform=None):
        self._imgs, self._targets = imgs, targets
        self.transform, self.target_transform = transform, target_transform

    def __len__(self):
        return len(self._imgs)

    def __getitem__(self, i):
        img, t = self._imgs[i], int(self._targets[i])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            t = self.target_transform(t)
        return img, t


class MNIST(_VisionDataset):
    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        n = cd.n_train() if train else cd.n_test()
        x, y = cd.class_images(n, 28, 28, seed=0 if train else 1)
        super().__init__(x, y, transform, target_transform)
        self.data = torch.from_numpy(x)          # uint8 (N, 28, 28), as torchvision
        self.targets = torch.from_numpy(y)       # int64 (N,)
        self.train = train


FashionMNIST = MNIST


class CIFAR10(_VisionDataset):
    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        n = cd.n_train() if train else cd.n_test()
        x, y = cd.class_images(n, 32, 32, c=3, seed=0 if train else 1)
        super().__init__(x, y, transform, target_transform)
        self.data, self.targets = x, list(y)


class FakeData(_VisionDataset):
    def __init__(self, size=1000, image_size=(3, 224, 224), num_classes=10, transform=None,
                 target_transform=None, random_offset=0):
        size = min(size, cd.n_train())
        c, h, w = image_size
        x, y = cd.class_images(size, h, w, c=c, seed=random_offset, classes=num_classes)
        super().__init__(x, y, transform, target_transform)
