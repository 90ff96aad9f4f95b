package sigv4

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/s3seal/s3seal/gateway/s3err"
)

// The AWS Signature Version 4 test suite (aws-sig-v4-test-suite, 2015-08-30
// edition): requests with their published canonical request, string to sign
// and signature. The suite signs for service "service"; the path
// normalisation cases are left out because S3 does not normalise paths.
type suiteCase struct {
	name          string
	request       string // request line and headers as sent, CRLF-separated
	body          string
	signedHeaders string
	creq          string // published canonical request
	sts           string // published string to sign
	signature     string // published signature
}

var suiteCases = []suiteCase{
	{
		name:          "get-header-key-duplicate",
		request:       "GET / HTTP/1.1\r\nHost:example.amazonaws.com\r\nMy-Header1:value2\r\nMy-Header1:value2\r\nMy-Header1:value1\r\nX-Amz-Date:20150830T123600Z\r\n",
		body:          "",
		signedHeaders: "host;my-header1;x-amz-date",
		creq:          "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		sts:           "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\ndc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c",
		signature:     "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
	},
	{
		name:          "get-header-value-order",
		request:       "GET / HTTP/1.1\r\nHost:example.amazonaws.com\r\nMy-Header1:value4\r\nMy-Header1:value1\r\nMy-Header1:value3\r\nMy-Header1:value2\r\nX-Amz-Date:20150830T123600Z\r\n",
		body:          "",
		signedHeaders: "host;my-header1;x-amz-date",
		creq:          "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value4,value1,value3,value2\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		sts:           "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n31ce73cd3f3d9f66977ad3dd957dc47af14df92fcd8509f59b349e9137c58b86",
		signature:     "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01",
	},
	{
		name:          "get-header-value-trim",
		request:       "GET / HTTP/1.1\r\nHost:example.amazonaws.com\r\nMy-Header1: value1\r\nMy-Header2: \"a   b   c\"\r\nX-Amz-Date:20150830T123600Z\r\n",
		body:          "",
		signedHeaders: "host;my-header1;my-header2;x-amz-date",
		creq:          "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\nx-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		sts:           "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\na726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
		signature:     "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
	},
	{
		name:          "get-unreserved",
		request:       "GET /-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\n",
		body:          "",
		signedHeaders: "host;x-amz-date",
		creq:          "GET\n/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		sts:           "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9",
		signature:     "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
	},
	{
		name:          "get-utf8",
		request:       "GET /%E1%88%B4 HTTP/1.1\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\n",
		body:          "",
		signedHeaders: "host;x-amz-date",
		creq:          "GET\n/%E1%88%B4\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		sts:           "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102",
		signature:     "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85",
	},
	{
		name:          "get-vanilla",
		request:       "GET / HTTP/1.1\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\n",
		body:          "",
		signedHeaders: "host;x-amz-date",
		creq:          "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		sts:           "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
		signature:     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	},
	{
		name:          "get-vanilla-empty-query-key",
		request:       "GET /?Param1=value1 HTTP/1.1\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\n",
		body:          "",
		signedHeaders: "host;x-amz-date",
		creq:          "GET\n/\nParam1=value1\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		sts:           "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n1e24db194ed7d0eec2de28d7369675a243488e08526e8c1c73571282f7c517ab",
		signature:     "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb",
	},
	{
		name:          "get-vanilla-query",
		request:       "GET / HTTP/1.1\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\n",
		body:          "",
		signedHeaders: "host;x-amz-date",
		creq:          "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		sts:           "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
		signature:     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	},
	{
		name:          "get-vanilla-query-order-key",
		request:       "GET /?Param1=value2&Param1=Value1 HTTP/1.1\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\n",
		body:          "",
		signedHeaders: "host;x-amz-date",
		creq:          "GET\n/\nParam1=Value1&Param1=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		sts:           "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n704b4cef673542d84cdff252633f065e8daeba5f168b77116f8b1bcaf3d38f89",
		signature:     "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1",
	},
	{
		name:          "get-vanilla-query-order-key-case",
		request:       "GET /?Param2=value2&Param1=value1 HTTP/1.1\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\n",
		body:          "",
		signedHeaders: "host;x-amz-date",
		creq:          "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		sts:           "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
		signature:     "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
	},
	{
		name:          "get-vanilla-query-order-value",
		request:       "GET /?Param1=value2&Param1=value1 HTTP/1.1\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\n",
		body:          "",
		signedHeaders: "host;x-amz-date",
		creq:          "GET\n/\nParam1=value1&Param1=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		sts:           "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nc968629d70850097a2d8781c9bf7edcb988b04cac14cca9be4acc3595f884606",
		signature:     "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694",
	},
	{
		name:          "get-vanilla-query-unreserved",
		request:       "GET /?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\n",
		body:          "",
		signedHeaders: "host;x-amz-date",
		creq:          "GET\n/\n-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		sts:           "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nc30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177",
		signature:     "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197",
	},
	{
		name:          "get-vanilla-utf8-query",
		request:       "GET /?%E1%88%B4=bar HTTP/1.1\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\n",
		body:          "",
		signedHeaders: "host;x-amz-date",
		creq:          "GET\n/\n%E1%88%B4=bar\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		sts:           "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\neb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073",
		signature:     "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
	},
	{
		name:          "get-space",
		request:       "GET /example%20space/ HTTP/1.1\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\n",
		body:          "",
		signedHeaders: "host;x-amz-date",
		creq:          "GET\n/example%20space/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		sts:           "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86",
		signature:     "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741",
	},
	{
		name:          "post-header-key-case",
		request:       "POST / HTTP/1.1\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\n",
		body:          "",
		signedHeaders: "host;x-amz-date",
		creq:          "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		sts:           "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
		signature:     "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
	},
	{
		name:          "post-header-key-sort",
		request:       "POST / HTTP/1.1\r\nHost:example.amazonaws.com\r\nMy-Header1:value1\r\nX-Amz-Date:20150830T123600Z\r\n",
		body:          "",
		signedHeaders: "host;my-header1;x-amz-date",
		creq:          "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		sts:           "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n9368318c2967cf6de74404b30c65a91e8f6253e0a8659d6d5319f1a812f87d65",
		signature:     "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c",
	},
	{
		name:          "post-header-value-case",
		request:       "POST / HTTP/1.1\r\nHost:example.amazonaws.com\r\nMy-Header1:VALUE1\r\nX-Amz-Date:20150830T123600Z\r\n",
		body:          "",
		signedHeaders: "host;my-header1;x-amz-date",
		creq:          "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:VALUE1\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		sts:           "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nd51ced243e649e3de6ef63afbbdcbca03131a21a7103a1583706a64618606a93",
		signature:     "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
	},
	{
		name:          "post-vanilla",
		request:       "POST / HTTP/1.1\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\n",
		body:          "",
		signedHeaders: "host;x-amz-date",
		creq:          "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		sts:           "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
		signature:     "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
	},
	{
		name:          "post-vanilla-empty-query-value",
		request:       "POST /?Param1=value1 HTTP/1.1\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\n",
		body:          "",
		signedHeaders: "host;x-amz-date",
		creq:          "POST\n/\nParam1=value1\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		sts:           "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd",
		signature:     "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
	},
	{
		name:          "post-vanilla-query",
		request:       "POST /?Param1=value1 HTTP/1.1\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\n",
		body:          "",
		signedHeaders: "host;x-amz-date",
		creq:          "POST\n/\nParam1=value1\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		sts:           "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd",
		signature:     "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
	},
	{
		name:          "post-x-www-form-urlencoded",
		request:       "POST / HTTP/1.1\r\nContent-Type:application/x-www-form-urlencoded\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\nContent-Length:13\r\n",
		body:          "Param1=value1",
		signedHeaders: "content-type;host;x-amz-date",
		creq:          "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
		sts:           "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281",
		signature:     "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
	},
	{
		name:          "post-x-www-form-urlencoded-parameters",
		request:       "POST / HTTP/1.1\r\nContent-Type:application/x-www-form-urlencoded; charset=utf8\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\nContent-Length:13\r\n",
		body:          "Param1=value1",
		signedHeaders: "content-type;host;x-amz-date",
		creq:          "POST\n/\n\ncontent-type:application/x-www-form-urlencoded; charset=utf8\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
		sts:           "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n2e1cf7ed91881a30569e46552437e4156c823447bf1781b921b5d486c568dd1c",
		signature:     "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe",
	},
	{
		name:          "post-sts-header-before",
		request:       "POST / HTTP/1.1\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\nX-Amz-Security-Token:AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==\r\n",
		body:          "",
		signedHeaders: "host;x-amz-date;x-amz-security-token",
		creq:          "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\nx-amz-security-token:AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==\n\nhost;x-amz-date;x-amz-security-token\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		sts:           "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nc237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6",
		signature:     "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
	},
}

const (
	suiteAccessKey = "AKIDEXAMPLE"
	suiteSecret    = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

var suiteTime = time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)

func suiteVerifier() *Verifier {
	v := newVerifier(suiteTime, suiteAccessKey, suiteSecret)
	v.Service = "service"
	// The post-sts cases sign with a session token for the same secret.
	v.SessionSecret = func(accessKey, _ string) (string, error) {
		if accessKey != suiteAccessKey {
			return "", s3err.New(s3err.InvalidAccessKeyID, "")
		}
		return suiteSecret, nil
	}
	return v
}

// suiteRequest returns the test-suite request as a server sees it, signed
// with the given signature.
func suiteRequest(t *testing.T, c suiteCase, signature string) *http.Request {
	t.Helper()
	raw := c.request +
		"Authorization: AWS4-HMAC-SHA256 Credential=" + suiteAccessKey + "/20150830/us-east-1/service/aws4_request, " +
		"SignedHeaders=" + c.signedHeaders + ", Signature=" + signature + "\r\n"
	if c.body != "" {
		// The suite's payload hash covers the body; S3 clients carry it in
		// x-amz-content-sha256, which need not be a signed header.
		raw += "X-Amz-Content-Sha256: " + sha256Hex([]byte(c.body)) + "\r\n"
	}
	return parseWire(t, []byte(raw+"\r\n"+c.body))
}

func TestAWSTestSuiteCanonicalRequest(t *testing.T) {
	for _, c := range suiteCases {
		t.Run(c.name, func(t *testing.T) {
			r := suiteRequest(t, c, strings.Repeat("0", 64))
			params, ok := parseQuery(r.URL.RawQuery)
			if !ok {
				t.Fatalf("parseQuery(%q) failed", r.URL.RawQuery)
			}
			headers, ok := parseSignedHeaders(c.signedHeaders)
			if !ok {
				t.Fatalf("parseSignedHeaders(%q) failed", c.signedHeaders)
			}
			got := canonicalRequest(r, canonicalURIs(r)[0], canonicalQuery(params, ""), headers, sha256Hex([]byte(c.body)))
			if got != c.creq {
				t.Fatalf("canonical request:\ngot:\n%s\nwant:\n%s", got, c.creq)
			}
			if got := stringToSign("20150830T123600Z", "20150830/us-east-1/service/aws4_request", got); got != c.sts {
				t.Fatalf("string to sign:\ngot:\n%s\nwant:\n%s", got, c.sts)
			}
		})
	}
}

func TestAWSTestSuiteSignatureVerifies(t *testing.T) {
	for _, c := range suiteCases {
		t.Run(c.name, func(t *testing.T) {
			r := suiteRequest(t, c, c.signature)
			res, err := suiteVerifier().Verify(r)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.AccessKey != suiteAccessKey {
				t.Errorf("access key = %q, want %q", res.AccessKey, suiteAccessKey)
			}
			body, err := readPayload(t, res)
			if err != nil {
				t.Fatalf("read payload: %v", err)
			}
			if !bytes.Equal(body, []byte(c.body)) {
				t.Errorf("payload = %q, want %q", body, c.body)
			}
		})
	}
}

func TestAWSTestSuiteAlteredSignatureFails(t *testing.T) {
	for _, c := range suiteCases {
		t.Run(c.name, func(t *testing.T) {
			_, err := suiteVerifier().Verify(suiteRequest(t, c, alterHex(c.signature)))
			wantCode(t, err, s3err.SignatureDoesNotMatch)
		})
	}
}

// post-sts-header-after adds X-Amz-Security-Token after signing. The
// signature still matches, but S3 refuses x-amz-* headers that are not
// signed, and so does Verify.
func TestAWSTestSuiteUnsignedSecurityTokenIsRefused(t *testing.T) {
	c := suiteCases[0]
	for _, sc := range suiteCases {
		if sc.name == "post-vanilla" {
			c = sc
		}
	}
	c.request += "X-Amz-Security-Token:AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==\r\n"
	_, err := suiteVerifier().Verify(suiteRequest(t, c, c.signature))
	wantCode(t, err, s3err.AccessDenied)
}

// get-slashes is signed over the normalised path "/example/". S3 signs the
// path as sent, so that signature must not verify "//example//".
func TestS3DoesNotNormalisePaths(t *testing.T) {
	c := suiteCase{
		name:          "get-slashes",
		request:       "GET //example// HTTP/1.1\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\n",
		signedHeaders: "host;x-amz-date",
		signature:     "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84",
	}
	r := suiteRequest(t, c, c.signature)
	if got := canonicalURIs(r)[0]; got != "//example//" {
		t.Fatalf("canonical URI = %q, want %q", got, "//example//")
	}
	_, err := suiteVerifier().Verify(r)
	wantCode(t, err, s3err.SignatureDoesNotMatch)
}
