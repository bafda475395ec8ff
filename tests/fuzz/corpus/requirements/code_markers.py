import tensorflow as tf
sess = tf.Session()
x = Variable(y, volatile=True)
print "x"
model = torch.compile(model)
